"""One named metric and what has been recorded in it, per combination of
dimension values. Only aggregates are kept (last value, count, sum), so a
handler that records a metric per request does not grow memory."""

from .metric_type_enum import MetricTypes


class Metric:
    def __init__(self, name, unit, dimension_names=None,
                 metric_type=MetricTypes.COUNTER):
        self.name = name
        self.unit = unit
        self.dimension_names = list(dimension_names or [])
        self.metric_type = metric_type
        # {tuple of dimension values: [last value, count, sum]}
        self.series = {}

    def add_or_update(self, value, dimension_values=(), request_id=None):
        """Counters add up; gauges and histograms keep the last value. The
        count and the sum are kept for all kinds."""
        key = tuple(dimension_values)
        entry = self.series.get(key)
        if entry is None:
            entry = self.series[key] = [0, 0, 0]
        if self.metric_type == MetricTypes.COUNTER:
            entry[0] += value
        else:
            entry[0] = value
        entry[1] += 1
        entry[2] += value

    def value(self, dimension_values=()):
        entry = self.series.get(tuple(dimension_values))
        return None if entry is None else entry[0]

    def __repr__(self):
        return "Metric({!r}, {!r}, {})".format(self.name, self.unit,
                                               self.metric_type.value)
