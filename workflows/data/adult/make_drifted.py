"""Writes adult-drifted.csv: a deliberately drifted scoring batch for the adult-income-monitoring example.

The first 3,000 rows of adult.test with an `id` row key, ages 12 years older (some beyond the training maximum of
90), 10 more weekly hours (capped at 99) and every fourth workclass missing. Deterministic: no randomness.
Run from the repository root: python3 workflows/data/adult/make_drifted.py
"""
import csv
import os

here = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(here, "adult.test"), newline="") as f:
    rows = list(csv.reader(f, skipinitialspace=True))
header, body = rows[0], [r for r in rows[1:] if len(r) == len(rows[0])][:3000]
age, hours, workclass = header.index("age"), header.index("hours-per-week"), header.index("workclass")
with open(os.path.join(here, "adult-drifted.csv"), "w", newline="") as f:
    w = csv.writer(f, lineterminator="\n")
    w.writerow(["id"] + header)
    for i, r in enumerate(body):
        r = list(r)
        r[age] = str(int(r[age]) + 12)
        r[hours] = str(min(99, int(r[hours]) + 10))
        if i % 4 == 0:
            r[workclass] = "?"
        w.writerow([f"row-{i:05d}"] + r)
