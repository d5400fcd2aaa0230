"""What a data scientist sees in MLflow after Pipelines' nightly run: read with the real MLflow Python client.

usage: check_nightly.py MODEL_NAME EXPERIMENT PIPELINE_RUN_ID ROWS_JSON OUT_JSON   (MLFLOW_TRACKING_URI names the server)
ROWS_JSON: {"columns": [...], "data": [[...]], "predictions": [...]} — raw rows and Pipelines' batch predictions.
Writes a JSON report the test asserts on.
"""
import json
import sys
import warnings

import mlflow
import numpy as np
import pandas as pd
from mlflow import MlflowClient

name, experiment_name, pipeline_run, rows_path, out_path = sys.argv[1:6]
with open(rows_path, encoding="utf-8") as f:
    rows = json.load(f)
frame = pd.DataFrame(rows["data"], columns=rows["columns"])
expected = np.asarray(rows["predictions"], dtype=np.float64)

client = MlflowClient()
champion = client.get_model_version_by_alias(name, "champion")
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    model = mlflow.pyfunc.load_model(f"models:/{name}@champion")
    predicted = np.asarray(model.predict(frame), dtype=np.float64)
    booster = mlflow.xgboost.load_model(f"models:/{name}@champion")

experiment = client.get_experiment_by_name(experiment_name)
runs = client.search_runs([experiment.experiment_id], max_results=1000)
parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags and r.data.tags.get("pipelines.run_id") == pipeline_run]
parent_ids = {r.info.run_id for r in parents}
children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") in parent_ids]
sources = []
for parent in parents:
    for d in parent.inputs.dataset_inputs:
        source = mlflow.data.get_source(d)
        sources.append({
            "name": d.dataset.name, "source_type": d.dataset.source_type, "source_class": type(source).__name__,
            "schema": json.loads(d.dataset.schema) if d.dataset.schema else None,
            "profile": json.loads(d.dataset.profile) if d.dataset.profile else None,
        })
trial = next((r for r in children if r.info.run_name.startswith("xgboost-trial-")), None)
report = {
    "champion_version": champion.version,
    "champion_source": champion.source,
    "champion_run_id": champion.run_id,
    "champion_tags": champion.tags,
    "rows": int(len(frame)),
    "max_abs_diff": float(np.max(np.abs(predicted - expected))) if len(expected) else None,
    "booster_type": f"{type(booster).__module__}.{type(booster).__name__}",
    "parents": [{"status": r.info.status, "end_time": r.info.end_time, "user_id": r.info.user_id, "tags": r.data.tags} for r in parents],
    "children": sorted(r.info.run_name for r in children),
    "children_finished": all(r.info.status == "FINISHED" for r in children),
    "trial_metrics": sorted(trial.data.metrics) if trial else [],
    "trial_history": len(client.get_metric_history(trial.info.run_id, "valid_auc")) if trial else 0,
    "datasets": sources,
}
with open(out_path, "w", encoding="utf-8") as f:
    json.dump(report, f, default=str)
