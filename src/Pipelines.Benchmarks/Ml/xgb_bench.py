#!/usr/bin/python3
"""Python side of the training benchmark (Debian python3-xgboost + python3-pandas). Prints one JSON line.

  train X.f32 Y.f32 ROWS COLS PARAMS.json ROUNDS MODEL_OUT PRED_OUT
      features come in as a pandas DataFrame (built from the float32 file before the clock starts);
      timed: DMatrix(DataFrame) + xgb.train, then DMatrix + predict.
  predict_csv MODEL IN.csv OUT.csv NTHREAD
      timed end to end: pandas.read_csv -> DMatrix -> predict -> DataFrame.to_csv.
"""
import json
import sys
import time
import numpy as np
import pandas as pd
import xgboost as xgb

mode = sys.argv[1]
if mode == "train":
    x_file, y_file, rows, cols, params_file, rounds, model_out, pred_out = sys.argv[2:10]
    rows, cols, rounds = int(rows), int(cols), int(rounds)
    with open(params_file) as f:
        params = json.load(f)
    names = params.pop("feature_names")
    df = pd.DataFrame(np.fromfile(x_file, dtype=np.float32).reshape(rows, cols), columns=names)
    y = np.fromfile(y_file, dtype=np.float32)
    t0 = time.perf_counter()
    d = xgb.DMatrix(df, label=y, missing=np.nan, nthread=int(params["nthread"]))
    t1 = time.perf_counter()
    booster = xgb.train(params, d, num_boost_round=rounds)
    t2 = time.perf_counter()
    dp = xgb.DMatrix(df, missing=np.nan, nthread=int(params["nthread"]))
    p = booster.predict(dp)
    t3 = time.perf_counter()
    booster.save_model(model_out)
    p.astype(np.float32).tofile(pred_out)
    print(json.dumps({"dmatrix_s": t1 - t0, "train_s": t2 - t1, "predict_s": t3 - t2,
                      "pandas": pd.__version__, "xgboost": xgb.__version__}))
elif mode == "predict_csv":
    model, in_csv, out_csv, nthread = sys.argv[2:6]
    booster = xgb.Booster(model_file=model)
    booster.set_param({"nthread": int(nthread)})
    t0 = time.perf_counter()
    df = pd.read_csv(in_csv)
    t1 = time.perf_counter()
    feats = df[booster.feature_names]
    p = booster.predict(xgb.DMatrix(feats, missing=np.nan, nthread=int(nthread)))
    t2 = time.perf_counter()
    pd.DataFrame({"probability": p}).to_csv(out_csv, index=False)
    t3 = time.perf_counter()
    print(json.dumps({"read_s": t1 - t0, "predict_s": t2 - t1, "write_s": t3 - t2, "total_s": t3 - t0}))
else:
    sys.exit("unknown mode " + mode)
