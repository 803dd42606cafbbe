"""Constant-velocity motion model of a head on the floor plane (filterpy Kalman filter)."""

from __future__ import annotations

import numpy as np
from filterpy.kalman import KalmanFilter


def make_filter(xy: np.ndarray, meas_std: float, init_vel_std: float) -> KalmanFilter:
    """State [x, y, vx, vy]; measurement [x, y]."""
    kf = KalmanFilter(dim_x=4, dim_z=2)
    kf.x = np.array([xy[0], xy[1], 0.0, 0.0])
    kf.H = np.array([[1.0, 0, 0, 0], [0, 1.0, 0, 0]])
    kf.R = np.eye(2) * meas_std**2
    kf.P = np.diag([meas_std**2, meas_std**2, init_vel_std**2, init_vel_std**2])
    return kf


def predict(kf: KalmanFilter, dt: float, accel_std: float, max_speed: float) -> None:
    """Advances the filter by dt seconds (white-acceleration process noise)."""
    if dt <= 0:
        return
    kf.F = np.array([[1.0, 0, dt, 0], [0, 1.0, 0, dt], [0, 0, 1.0, 0], [0, 0, 0, 1.0]])
    q = accel_std**2
    dt2, dt3, dt4 = dt * dt, dt**3 / 2, dt**4 / 4
    kf.Q = q * np.array([[dt4, 0, dt3, 0], [0, dt4, 0, dt3], [dt3, 0, dt2, 0], [0, dt3, 0, dt2]])
    kf.predict()
    speed = float(np.hypot(kf.x[2], kf.x[3]))
    if speed > max_speed:  # people walk at most ~1.8 m/s
        kf.x[2:] *= max_speed / speed
