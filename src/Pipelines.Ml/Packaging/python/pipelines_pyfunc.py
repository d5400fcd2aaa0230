"""MLflow pyfunc loader for models trained by Pipelines (.NET).

Shipped inside every model directory Pipelines writes (code_paths), so that
``mlflow.pyfunc.load_model(uri).predict(raw_df)`` takes the raw input columns, applies the fitted feature pipeline
(``feature_pipeline.json``) exactly as Pipelines does, and predicts with the model described by
``pipelines_model.json``: an XGBoost booster (the same file the ``xgboost`` flavor names) or a linear baseline.

Binary classification returns the positive class's probability per row, regression the value, multiclass a frame
with one probability column per class. Needs numpy and pandas (and xgboost for boosters); nothing else.
"""
import json
import math
import os

import numpy as np
import pandas as pd

DESCRIPTOR = "pipelines_model.json"
OTHER = "__other__"
MISSING = "__missing__"


def _load_pyfunc(path):
    # MLflow passes the model directory (this flavor names no data path).
    return PipelinesModel(path)


class PipelinesModel:
    def __init__(self, path):
        with open(os.path.join(path, DESCRIPTOR), encoding="utf-8") as f:
            self.descriptor = json.load(f)
        with open(os.path.join(path, self.descriptor["feature_pipeline"]), encoding="utf-8") as f:
            self.pipeline = FeaturePipeline(json.load(f))
        self.kind = self.descriptor["kind"]
        self.task = self.descriptor["task"]
        self.classes = self.descriptor.get("classes") or []
        if self.kind == "xgboost":
            import xgboost

            self.booster = xgboost.Booster(model_file=os.path.join(path, self.descriptor["model_file"]))
        elif self.kind == "linear":
            with open(os.path.join(path, self.descriptor["model_file"]), encoding="utf-8") as f:
                linear = json.load(f)
            self.mean = np.asarray(linear["mean"], dtype=np.float64)
            self.scale = np.asarray(linear["scale"], dtype=np.float64)
            self.coefficients = [np.asarray(c, dtype=np.float64) for c in linear["coefficients"]]
        elif self.kind == "constant":
            with open(os.path.join(path, self.descriptor["model_file"]), encoding="utf-8") as f:
                self.constant = np.asarray(json.load(f)["values"], dtype=np.float64)
        else:
            raise ValueError(f"unknown Pipelines model kind '{self.kind}'")

    def features(self, data):
        """The float32 feature matrix Pipelines builds from these raw rows."""
        return self.pipeline.transform(data)

    def predict(self, model_input, params=None):
        x = self.features(model_input)
        if self.kind == "xgboost":
            import xgboost

            out = self.booster.predict(xgboost.DMatrix(x, missing=np.nan), validate_features=False)
        elif self.kind == "linear":
            design = (x.astype(np.float64) - self.mean) / self.scale
            scores = [c[0] + design @ c[1:] for c in self.coefficients]
            if self.task == "Regression":
                out = scores[0]
            elif self.task == "BinaryClassification":
                out = _sigmoid(scores[0])
            else:
                p = np.column_stack([_sigmoid(s) for s in scores])
                out = p / p.sum(axis=1, keepdims=True)
        else:
            out = np.tile(self.constant, (x.shape[0], 1))
            if self.constant.shape[0] == 1:
                out = out[:, 0]
        if self.task == "MulticlassClassification":
            out = np.asarray(out).reshape(x.shape[0], -1)
            return pd.DataFrame(out, columns=self.classes[: out.shape[1]] or None, index=_index(model_input))
        return np.asarray(out).reshape(-1)


def _index(data):
    return data.index if isinstance(data, pd.DataFrame) else None


def _sigmoid(z):
    z = np.asarray(z, dtype=np.float64)
    out = np.empty_like(z)
    pos = z >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-z[pos]))
    e = np.exp(z[~pos])
    out[~pos] = e / (1.0 + e)
    return out


class FeaturePipeline:
    """The fitted steps of a Pipelines feature pipeline (format_version 1), applied as Pipelines applies them."""

    def __init__(self, spec):
        if spec.get("format_version") != 1:
            raise ValueError(f"feature pipeline format_version {spec.get('format_version')} is not supported (this loader reads 1)")
        self.spec = spec
        self.label = (spec.get("label") or {}).get("column")
        self.inputs = spec.get("inputs") or []
        self.features = spec.get("features") or []
        self.steps = spec.get("steps") or []

    def transform(self, data):
        if not isinstance(data, pd.DataFrame):
            data = pd.DataFrame(data)
        for column in self.inputs:
            if column["name"] not in data.columns:
                raise KeyError(f"column '{column['name']}' is missing (the feature pipeline was fitted with it)")
        cols = {name: data[name] for name in data.columns if name != self.label}
        order = [name for name in data.columns if name != self.label]
        for step in self.steps:
            op = step["op"]
            handler = getattr(self, "_" + op, None)
            if handler is None:
                raise ValueError(f"unknown feature step '{op}'")
            order = handler(step, cols, order)
        missing = [f for f in self.features if f not in cols]
        if missing:
            raise KeyError(f"output column '{missing[0]}' is missing")
        n = len(data)
        x = np.empty((n, len(self.features)), dtype=np.float32)
        for j, name in enumerate(self.features):
            x[:, j] = _numbers(cols[name], name).astype(np.float32)
        return x

    # Steps: each takes (step, columns by name, column order) and returns the new order.
    def _impute(self, step, cols, order):
        for name in step["columns"]:
            c = _get(cols, name, "impute")
            fill = step["fill"][name]
            if _is_text(c):
                cols[name] = pd.Series([fill if _is_null(v) else v for v in c], index=c.index, dtype=object)
            else:
                v = _numbers(c, name)
                v[np.isnan(v)] = float(fill)
                cols[name] = pd.Series(v, index=c.index)
        return order

    def _standardize(self, step, cols, order):
        for name in step["columns"]:
            v = _numbers(_get(cols, name, "standardize"), name)
            cols[name] = pd.Series((v - step["mean"][name]) / step["std"][name])
        return order

    def _min_max(self, step, cols, order):
        for name in step["columns"]:
            v = _numbers(_get(cols, name, "min_max"), name)
            lo, hi = step["min"][name], step["max"][name]
            rng = 1.0 if hi - lo == 0 else hi - lo
            cols[name] = pd.Series((v - lo) / rng)
        return order

    def _log1p(self, step, cols, order):
        for name in step["columns"]:
            v = _numbers(_get(cols, name, "log1p"), name)
            out = np.full(v.shape, np.nan)
            ok = v > -1
            # Pipelines computes log(1 + x), not log1p(x): the same rounding keeps the features bit-identical.
            out[ok] = np.log(1.0 + v[ok])
            cols[name] = pd.Series(out)
        return order

    def _clip(self, step, cols, order):
        for name in step["columns"]:
            v = _numbers(_get(cols, name, "clip"), name)
            lo, hi = step.get("lower"), step.get("upper")
            ok = ~np.isnan(v)
            if lo is not None:
                v[ok & (v < lo)] = lo
            if hi is not None:
                v[ok & (v > hi)] = hi
            cols[name] = pd.Series(v)
        return order

    def _one_hot(self, step, cols, order):
        for name in step["columns"]:
            texts = _texts(_get(cols, name, "one_hot"))
            cats = step["categories"][name]
            index = {c: j for j, c in enumerate(cats)}
            n = len(texts)
            out = np.zeros((len(cats) + 1, n))
            for i, t in enumerate(texts):
                out[index.get(MISSING if t is None else t, len(cats)), i] = 1.0
            names = [f"{name}={_clean(c)}" for c in cats] + [f"{name}={OTHER}"]
            for j, new in enumerate(names):
                cols[new] = pd.Series(out[j])
            at = order.index(name)
            order = order[: at + 1] + names + order[at + 1:]
            order.remove(name)
            del cols[name]
        return order

    def _quantile_bucketize(self, step, cols, order):
        for name in step["columns"]:
            v = _numbers(_get(cols, name, "quantile_bucketize"), name)
            edges = np.asarray(step["edges"][name], dtype=np.float64)
            out = np.searchsorted(edges, v, side="right").astype(np.float64)
            out[np.isnan(v)] = np.nan
            cols[name] = pd.Series(out)
        return order

    def _date_parts(self, step, cols, order):
        parts = step.get("parts") or ["year", "month", "day", "day_of_week"]
        for name in step["columns"]:
            t = pd.to_datetime(_get(cols, name, "date_parts").reset_index(drop=True))
            get = {
                "year": lambda s: s.dt.year, "month": lambda s: s.dt.month, "day": lambda s: s.dt.day,
                "day_of_week": lambda s: s.dt.dayofweek, "day_of_year": lambda s: s.dt.dayofyear, "hour": lambda s: s.dt.hour,
            }
            names = []
            for p in parts:
                if p not in get:
                    raise ValueError(f"unknown date part '{p}'")
                cols[f"{name}_{p}"] = get[p](t).astype(np.float64)
                names.append(f"{name}_{p}")
            at = order.index(name)
            order = order[: at + 1] + names + order[at + 1:]
            order.remove(name)
            del cols[name]
        return order

    def _select(self, step, cols, order):
        for name in step["columns"]:
            _get(cols, name, "select")
        keep = list(step["columns"])
        for name in list(cols):
            if name not in keep:
                del cols[name]
        return keep

    def _drop(self, step, cols, order):
        for name in step["columns"]:
            _get(cols, name, "drop")
            del cols[name]
            order.remove(name)
        return order

    def _rename(self, step, cols, order):
        for old, new in step["mapping"].items():
            cols[new] = _get(cols, old, "rename")
            del cols[old]
            order[order.index(old)] = new
        return order

    def _map_values(self, step, cols, order):
        mapping = step["mapping"]
        for name in step["columns"]:
            c = _get(cols, name, "map_values")
            cols[name] = pd.Series([v if _is_null(v) else mapping.get(v, v) for v in c], dtype=object)
        return order


def _get(cols, name, op):
    if name not in cols:
        raise KeyError(f"column '{name}' is missing (feature step '{op}' needs it)")
    return cols[name]


def _is_null(v):
    return v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA or v is pd.NaT


def _is_text(c):
    return c.dtype == object or pd.api.types.is_string_dtype(c)


def _numbers(c, name):
    if _is_text(c):
        raise TypeError(f"column '{name}' is text, but a feature must be numeric")
    if pd.api.types.is_bool_dtype(c):
        return c.astype(np.float64).to_numpy(copy=True)
    return pd.to_numeric(c).astype(np.float64).to_numpy(copy=True)


def _texts(c):
    """Values as Pipelines writes them as text: strings as they are, integers in invariant digits, booleans as true/false."""
    if pd.api.types.is_float_dtype(c):
        raise TypeError("one_hot needs a string, integer or boolean column")
    out = []
    for v in c.tolist():
        if _is_null(v):
            out.append(None)
        elif isinstance(v, (bool, np.bool_)):
            out.append("true" if v else "false")
        elif isinstance(v, (int, np.integer)):
            out.append(str(int(v)))
        else:
            out.append(str(v))
    return out


def _clean(s):
    return s.replace("[", "(").replace("]", ")").replace("<", "lt")
