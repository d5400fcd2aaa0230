"""Generates the synthetic building-energy data set used by workflows/energy-demand-nightly.yaml.

Hourly electricity use (kWh) of three buildings, driven by outdoor temperature (heating and cooling), occupancy
by hour and weekday, and noise. Deterministic: the same seed writes the same files.
    /usr/bin/python3 workflows/data/energy/generate.py
"""
import csv
import math
import random

WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
BUILDINGS = {"office": 120.0, "school": 80.0, "lab": 200.0}


def rows(n, seed, temperature_shift=0.0):
    rnd = random.Random(seed)
    for i in range(n):
        building = rnd.choice(list(BUILDINGS))
        weekday = rnd.choice(WEEKDAYS)
        hour = rnd.randrange(24)
        temperature = round(rnd.gauss(12.0, 8.0) + temperature_shift, 1)
        humidity = round(min(100.0, max(10.0, rnd.gauss(65.0, 15.0))), 1)
        occupied = weekday not in ("Sat", "Sun") and 7 <= hour <= 19
        base = BUILDINGS[building]
        heating = max(0.0, 16.0 - temperature) * 4.0
        cooling = max(0.0, temperature - 22.0) * 6.0 * (1.0 + humidity / 200.0)
        load = base * (1.6 if occupied else 0.7) + heating + cooling + 10.0 * math.sin(hour / 24.0 * 2 * math.pi)
        kwh = round(max(0.0, load + rnd.gauss(0.0, 8.0)), 2)
        yield [building, weekday, hour, temperature, humidity if rnd.random() > 0.02 else "", kwh]


def write(path, n, seed, shift=0.0):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["building", "weekday", "hour", "temperature", "humidity", "kwh"])
        w.writerows(rows(n, seed, shift))


if __name__ == "__main__":
    import os
    here = os.path.dirname(os.path.abspath(__file__))
    write(os.path.join(here, "energy-train.csv"), 8000, seed=1)
    write(os.path.join(here, "energy-holdout.csv"), 2000, seed=2)
