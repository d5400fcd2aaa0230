"""A data scientist's notebook: trains XGBoost on Adult's numeric columns with pandas, logs it with
mlflow.xgboost.log_model (signature from the frame), registers it and points 'champion' at it; then predicts the
holdout with mlflow.pyfunc, as the reference for Pipelines' scoring of the same rows.

usage: log_python_model.py TRAIN_CSV HOLDOUT_CSV MODEL_NAME OUT_JSON   (MLFLOW_TRACKING_URI names the server)
"""
import json
import sys
import warnings

import mlflow
import pandas as pd
import xgboost
from mlflow import MlflowClient
from mlflow.models import infer_signature

train_csv, holdout_csv, name, out_path = sys.argv[1:5]
features = ["age", "fnlwgt", "education-num", "capital-gain", "capital-loss", "hours-per-week"]
train = pd.read_csv(train_csv, skipinitialspace=True, na_values=["?"])
holdout = pd.read_csv(holdout_csv, skipinitialspace=True, na_values=["?"])
label = train["Y"].str.startswith(">50K").astype(int)
booster = xgboost.train({"objective": "binary:logistic", "max_depth": 4, "eta": 0.3, "seed": 1, "nthread": 1},
                        xgboost.DMatrix(train[features], label=label), num_boost_round=20)
mlflow.set_experiment(f"notebook-{name}")
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    with mlflow.start_run() as run:
        signature = infer_signature(train[features].head(20), booster.predict(xgboost.DMatrix(train[features].head(20))))
        info = mlflow.xgboost.log_model(booster, "model", signature=signature)
    version = mlflow.register_model(info.model_uri, name)
    MlflowClient().set_registered_model_alias(name, "champion", version.version)
    predictions = mlflow.pyfunc.load_model(f"models:/{name}@champion").predict(holdout[features])
with open(out_path, "w", encoding="utf-8") as f:
    json.dump({"version": version.version, "rows": len(holdout), "predictions": [float(p) for p in predictions]}, f)
