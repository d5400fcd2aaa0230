"""The MLflow Python client's everyday calls, run against whatever MLFLOW_TRACKING_URI names.

usage: client_scenarios.py PREFIX OUT_JSON
Writes {step: result} where each result is what the client returned (or the error_code it raised), with the
values that differ between servers by nature (ids, times, the prefix) replaced by stable placeholders, so the
results of the real MLflow server and of Pipelines' built-in endpoint can be compared field by field.
"""
import json
import re
import os
import sys
import tempfile
import warnings

# Answers the client retries (a 500 such as a transition to an unknown stage) are retried exactly as by default, but
# without the back-off sleeps between them (about 60 s per run of this script otherwise): same requests, same answers.
os.environ.setdefault("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "0")
os.environ.setdefault("MLFLOW_HTTP_REQUEST_BACKOFF_JITTER", "0")

import numpy as np
import pandas as pd
import requests

import mlflow
from mlflow import MlflowClient
from mlflow.entities import DatasetInput, InputTag, Metric, Param, RunTag, ViewType
from mlflow.exceptions import MlflowException

prefix, out_path = sys.argv[1:3]
uri = os.environ["MLFLOW_TRACKING_URI"]
client = MlflowClient()
results = {}
ids = {}


def placeholder(value, kind):
    if value not in ids:
        ids[value] = f"<{kind}{sum(1 for k in ids.values() if k.startswith('<' + kind))}>"
    return ids[value]


TIME_KEYS = {"start_time", "end_time", "creation_time", "last_update_time", "creation_timestamp", "last_updated_timestamp",
             "deleted_time", "utc_time_created", "model_uuid"}


ID_KEYS = {"experiment_id", "run_id", "run_uuid", "parent_run_id"}


def norm(value, key=None):
    """Entities as plain data with ids and times replaced."""
    if hasattr(value, "to_dictionary"):
        value = value.to_dictionary()
    elif hasattr(value, "__dict__") and not isinstance(value, (str, int, float, bool)) and type(value).__module__.startswith("mlflow"):
        value = {k.lstrip("_"): v for k, v in vars(value).items()}
    if isinstance(value, dict):
        return {k: ("<time>" if k in TIME_KEYS and v is not None else norm(v, k)) for k, v in sorted(value.items())}
    if isinstance(value, (list, tuple)):
        return [norm(v) for v in value]
    if isinstance(value, str):
        if key in ID_KEYS and value in ids:
            return ids[value]
        s = value.replace(prefix, "<prefix>")
        # Run ids (32 hex digits) are unique enough to replace inside any text (URIs, tags).
        for original, ph in ids.items():
            if len(original) >= 16:
                s = s.replace(original, ph)
        # Artifact URIs name the experiment: mlflow-artifacts:/<experiment id>/<run>/artifacts.
        return re.sub(r"^mlflow-artifacts:/[0-9]+/", "mlflow-artifacts:/<exp>/", s)
    return value


def step(name, fn):
    try:
        results[name] = norm(fn())
    except MlflowException as e:
        results[name] = {"error_code": e.error_code}


# ---- experiments
exp = client.create_experiment(f"{prefix}-exp", tags={"team": "ml"})
placeholder(exp, "exp")
step("experiment.create.duplicate", lambda: client.create_experiment(f"{prefix}-exp"))
client.set_experiment_tag(exp, "stage", "dev")
step("experiment.get_by_name", lambda: {"name": client.get_experiment_by_name(f"{prefix}-exp").name,
                                        "tags": client.get_experiment_by_name(f"{prefix}-exp").tags,
                                        "lifecycle_stage": client.get_experiment(exp).lifecycle_stage})
step("experiment.get.missing", lambda: client.get_experiment("987654321"))
other = client.create_experiment(f"{prefix}-other")
placeholder(other, "exp")
step("experiment.search", lambda: [e.name for e in client.search_experiments(filter_string=f"name LIKE '{prefix}-%'", order_by=["name DESC"])])

# ---- runs, params, metrics, tags
parent = client.create_run(exp, run_name="parent", tags={"k": "v"})
pid = placeholder(parent.info.run_id, "run") and parent.info.run_id
children = []
for i, (depth, auc) in enumerate([(3, 0.7), (5, 0.9), (8, 0.8)]):
    r = client.create_run(exp, run_name=f"trial-{i}", tags={"mlflow.parentRunId": pid})
    placeholder(r.info.run_id, "run")
    client.log_batch(r.info.run_id, metrics=[Metric("auc", auc - 0.1 * (2 - s), 1_700_000_000_000 + s, s) for s in range(3)],
                     params=[Param("depth", str(depth))], tags=[RunTag("trial", str(i))])
    children.append(r.info.run_id)
client.log_param(pid, "lr", "0.1")
client.log_metric(pid, "loss", 0.5, timestamp=1_700_000_000_000, step=0)
client.log_metric(pid, "loss", 0.25, timestamp=1_700_000_000_001, step=1)
client.set_tag(pid, "to_delete", "x")
client.delete_tag(pid, "to_delete")
step("run.delete_tag.missing", lambda: client.delete_tag(pid, "never-set"))
step("run.param.changed", lambda: client.log_param(pid, "lr", "0.2"))
frame = pd.DataFrame({"age": [30, 40], "city": ["a", "b"]})
dataset = mlflow.data.from_pandas(frame, source="/data/train.csv", name="train")
client.log_inputs(pid, [DatasetInput(dataset._to_mlflow_entity(), tags=[InputTag("mlflow.data.context", "training")])])
step("run.get", lambda: client.get_run(pid))
step("run.metric_history", lambda: [(m.key, m.value, m.step, m.timestamp) for m in client.get_metric_history(pid, "loss")])
step("run.metric_history.child", lambda: [(m.value, m.step) for m in client.get_metric_history(children[1], "auc")])

# ---- artifacts
client.log_text(pid, "hello", "dir/hello.txt")
client.log_dict(pid, {"a": 1}, "dir/sub/conf.json")
step("artifacts.list", lambda: [(f.path, f.is_dir, f.file_size) for f in client.list_artifacts(pid, "dir")])
step("artifacts.list.root", lambda: [(f.path, f.is_dir) for f in client.list_artifacts(pid)])
with tempfile.TemporaryDirectory() as d:
    local = client.download_artifacts(pid, "dir/hello.txt", d)
    results["artifacts.download"] = open(local).read()
base = f"{uri}/api/2.0/mlflow-artifacts/artifacts"
for name, path in [("encoded-dotdot", "..%2f..%2fx.txt"), ("double-encoded", "a/..%252f..%252fx.txt"), ("dotdot", "a/%2E%2E/x.txt")]:
    response = requests.put(f"{base}/{path}", data=b"x", timeout=30)
    results[f"artifacts.put.{name}"] = {"status": response.status_code, "error_code": response.json().get("error_code") if response.status_code != 200 else None}

# ---- search
step("search.filter_order", lambda: [r.info.run_name for r in client.search_runs(
    [exp], filter_string="metrics.auc > 0.5 and params.depth != '3'", order_by=["metrics.auc DESC"])])
step("search.tags", lambda: [r.info.run_name for r in client.search_runs([exp], filter_string=f"tags.mlflow.parentRunId = '{pid}'", order_by=["attributes.run_name ASC"])])
step("search.datasets.name", lambda: [r.info.run_name for r in client.search_runs([exp], filter_string="datasets.name = 'train'")])
step("search.datasets.context", lambda: [r.info.run_name for r in client.search_runs([exp], filter_string="datasets.context IN ('training', 'eval')")])
step("search.datasets.bad_key", lambda: client.search_runs([exp], filter_string="datasets.source = 'x'"))
step("search.like", lambda: [r.info.run_name for r in client.search_runs([exp], filter_string="attributes.run_name LIKE 'trial-%'", order_by=["params.depth DESC"])])
step("search.bad_comparator", lambda: client.search_runs([exp], filter_string="metrics.auc LIKE '1'"))
page = client.search_runs([exp], max_results=2, order_by=["attributes.run_name ASC"])
results["search.page1"] = [r.info.run_name for r in page]
results["search.page2"] = [r.info.run_name for r in client.search_runs([exp], max_results=2, order_by=["attributes.run_name ASC"], page_token=page.token)]

# ---- lifecycle
client.set_terminated(children[0], "FAILED")
client.delete_run(children[2])
step("lifecycle.deleted_only", lambda: [r.info.run_name for r in client.search_runs([exp], run_view_type=ViewType.DELETED_ONLY)])
client.restore_run(children[2])
step("lifecycle.restored", lambda: [(r.info.run_name, r.info.status, r.info.lifecycle_stage) for r in client.search_runs([exp], order_by=["attributes.run_name ASC"])])
client.delete_experiment(other)
step("lifecycle.experiment_deleted", lambda: client.get_experiment(other).lifecycle_stage)
client.restore_experiment(other)
step("lifecycle.experiment_restored", lambda: client.get_experiment(other).lifecycle_stage)

# ---- a model logged from Python, registered, aliased, loaded
import xgboost

rng = np.random.default_rng(7)
x = pd.DataFrame({"f1": rng.normal(size=200), "f2": rng.normal(size=200)})
y = (x["f1"] + 0.5 * x["f2"] > 0).astype(int)
booster = xgboost.train({"objective": "binary:logistic", "max_depth": 2, "seed": 1, "nthread": 1}, xgboost.DMatrix(x, label=y), num_boost_round=5)
mlflow.set_experiment(experiment_id=exp)
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    with mlflow.start_run(run_id=children[1]):
        mlflow.xgboost.log_model(booster, "model", input_example=x.head(3))
step("run.logged_model_history", lambda: [
    {k: v for k, v in m.items() if k in ("artifact_path", "flavors")} for m in json.loads(client.get_run(children[1]).data.tags["mlflow.log-model.history"])])
name = f"{prefix}-model"
client.create_registered_model(name, tags={"owner": "ml"}, description="d")
step("registry.create.duplicate", lambda: client.create_registered_model(name))
v1 = client.create_model_version(name, f"runs:/{children[1]}/model", children[1], tags={"pipelines.artifact": "a1"})
v2 = client.create_model_version(name, f"runs:/{children[1]}/model", children[1])
client.set_registered_model_alias(name, "champion", v1.version)
step("registry.version", lambda: client.get_model_version(name, v1.version))
step("registry.by_alias", lambda: client.get_model_version_by_alias(name, "champion"))
step("registry.by_alias.missing", lambda: client.get_model_version_by_alias(name, "nope"))
step("registry.download_uri", lambda: client.get_model_version_download_uri(name, v1.version))
step("registry.transition", lambda: client.transition_model_version_stage(name, v1.version, "production"))
step("registry.transition.archive", lambda: client.transition_model_version_stage(name, v2.version, "Production", archive_existing_versions=True))
step("registry.transition.archive_bad_stage", lambda: client.transition_model_version_stage(name, v2.version, "None", archive_existing_versions=True))
step("registry.transition.bad_stage", lambda: client.transition_model_version_stage(name, v2.version, "Shipping"))
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    step("registry.latest_versions", lambda: sorted((v.version, v.current_stage) for v in client.get_latest_versions(name)))
    step("registry.latest_versions.production", lambda: [(v.version, v.current_stage) for v in client.get_latest_versions(name, stages=["Production"])])
client.set_model_version_tag(name, v1.version, "t", "1")
client.delete_model_version_tag(name, v1.version, "t")
step("registry.version_tag_deleted", lambda: client.get_model_version(name, v1.version).tags)
client.set_registered_model_tag(name, "gone", "1")
client.delete_registered_model_tag(name, "gone")
step("registry.model", lambda: client.get_registered_model(name))
step("registry.search_versions", lambda: [(v.version, v.current_stage) for v in client.search_model_versions(f"name = '{name}'", order_by=["version_number ASC"])])
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    expected = booster.predict(xgboost.DMatrix(x)).tolist()
    for label, model_uri in [("alias", f"models:/{name}@champion"), ("version", f"models:/{name}/{v2.version}")]:
        predicted = mlflow.pyfunc.load_model(model_uri).predict(x)
        results[f"registry.load.{label}"] = float(np.max(np.abs(np.asarray(predicted, dtype=float) - np.asarray(expected))))
    results["registry.load.xgboost"] = type(mlflow.xgboost.load_model(f"models:/{name}@champion")).__name__
client.delete_model_version(name, v2.version)
step("registry.deleted_version", lambda: client.get_model_version(name, v2.version))
client.delete_registered_model(name)
step("registry.deleted_model", lambda: client.get_registered_model(name))

with open(out_path, "w", encoding="utf-8") as f:
    json.dump(results, f, indent=1, sort_keys=True, default=str)
