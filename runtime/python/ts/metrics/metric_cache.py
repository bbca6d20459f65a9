"""context.metrics: the calls TorchServe's metrics cache offers handlers
(add_time, add_counter, add_size, add_percent, add_metric, add_error,
get_metric, add_metric_to_cache), recording values in memory.

TorchServe prints these to its metrics log, and only metrics declared in
metrics.yaml reach Prometheus; here nothing is printed, and every metric is
kept (as aggregates, see metric.py) where the server or a test can read it."""

from .dimension import Dimension
from .metric import Metric
from .metric_type_enum import MetricTypes


class MetricsCacheError(Exception):
    pass


class MetricsCacheKeyError(MetricsCacheError, KeyError):
    pass


class MetricsCacheValueError(MetricsCacheError, ValueError):
    pass


TIME_UNITS = ("ms", "s")
SIZE_UNITS = ("MB", "kB", "GB", "B")


class MetricsCache:
    def __init__(self, model_name=None):
        self.model_name = model_name
        self.request_ids = None
        # {(name, MetricTypes): Metric}
        self.cache = {}

    def set_request_ids(self, request_ids):
        self.request_ids = request_ids

    def _request_id(self, idx):
        """The id of request idx of the batch; without idx, all of them."""
        ids = self.request_ids
        if isinstance(ids, dict):
            if idx is not None and idx in ids:
                return ids[idx]
            return ",".join(ids.values())
        return ids

    def _dimensions(self, idx, dimensions):
        # TorchServe adds ModelName and Level unless the caller gave them;
        # copy first: callers often pass the same list (or the default)
        dimensions = list(dimensions or [])
        names = {dim.name for dim in dimensions}
        if "ModelName" not in names and idx is not None:
            dimensions.append(Dimension("ModelName", self.model_name))
        if "Level" not in names:
            dimensions.append(Dimension("Level",
                                        "Error" if idx is None else "Model"))
        return dimensions

    def _record(self, name, value, unit, idx, dimensions, metric_type):
        request_id = self._request_id(idx)
        dimensions = self._dimensions(request_id, dimensions)
        metric = self._get_or_add(name, unit, dimensions, metric_type)
        metric.add_or_update(value, [dim.value for dim in dimensions],
                             request_id)

    def _get_or_add(self, name, unit, dimensions, metric_type):
        metric = self.cache.get((name, metric_type))
        if metric is None:
            metric = self.add_metric_to_cache(
                name, unit, [dim.name for dim in dimensions], metric_type)
        return metric

    def add_metric(self, name, value, unit, idx=None, dimensions=None,
                   metric_type=MetricTypes.COUNTER):
        self._record(name, value, unit, idx, dimensions, metric_type)

    def add_counter(self, name, value, idx=None, dimensions=None):
        self._record(name, value, "count", idx, dimensions,
                     MetricTypes.COUNTER)

    def add_time(self, name, value, idx=None, unit="ms", dimensions=None,
                 metric_type=MetricTypes.GAUGE):
        if unit not in TIME_UNITS:
            raise MetricsCacheValueError(
                "the unit for a timed metric should be one of "
                "['ms', 's']")
        self._record(name, value, unit, idx, dimensions, metric_type)

    def add_size(self, name, value, idx=None, unit="MB", dimensions=None,
                 metric_type=MetricTypes.GAUGE):
        if unit not in SIZE_UNITS:
            raise ValueError("The unit for size based metric is one of "
                             "['MB','kB', 'GB', 'B']")
        self._record(name, value, unit, idx, dimensions, metric_type)

    def add_percent(self, name, value, idx=None, dimensions=None,
                    metric_type=MetricTypes.GAUGE):
        self._record(name, value, "percent", idx, dimensions, metric_type)

    def add_error(self, name, value, dimensions=None):
        dimensions = self._dimensions(None, dimensions)
        metric = self._get_or_add(name, "", dimensions, MetricTypes.COUNTER)
        metric.add_or_update(value, [dim.value for dim in dimensions])

    def get_metric(self, metric_name, metric_type=MetricTypes.COUNTER):
        metric = self.cache.get((metric_name, metric_type))
        if metric is None:
            raise MetricsCacheKeyError(
                "Metric of type {} and name {} doesn't exist".format(
                    metric_type, metric_name))
        return metric

    def add_metric_to_cache(self, metric_name, unit, dimension_names=None,
                            metric_type=MetricTypes.COUNTER):
        if not isinstance(metric_type, MetricTypes):
            raise MetricsCacheError(
                "metric_type must be a MetricTypes value")
        metric = Metric(metric_name, unit, dimension_names, metric_type)
        self.cache[(metric_name, metric_type)] = metric
        return metric
