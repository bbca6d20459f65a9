"""A metric dimension: one name/value pair (ModelName, Level, ...)."""


class Dimension:
    def __init__(self, name, value):
        self.name = name
        self.value = value

    def __str__(self):
        return "{}:{}".format(self.name, self.value)

    def __repr__(self):
        return "Dimension({!r}, {!r})".format(self.name, self.value)

    def to_dict(self):
        return {"Name": self.name, "Value": self.value}
