"""Constant-velocity motion model of a head on the floor plane (filterpy Kalman filter)."""

from __future__ import annotations

import numpy as np
from filterpy.kalman import KalmanFilter

HEIGHT_KEEP = 0.8  # a head's height follows its detections: this much old, the rest new


def make_filter(xy: np.ndarray, meas_std: float, init_vel_std: float) -> KalmanFilter:
    """State [x, y, vx, vy]; measurement [x, y]."""
    kf = KalmanFilter(dim_x=4, dim_z=2)
    kf.x = np.array([xy[0], xy[1], 0.0, 0.0])
    kf.H = np.array([[1.0, 0, 0, 0], [0, 1.0, 0, 0]])
    kf.R = np.eye(2) * meas_std**2
    kf.P = np.diag([meas_std**2, meas_std**2, init_vel_std**2, init_vel_std**2])
    return kf


def predict(kf: KalmanFilter, dt: float, accel_psd: float, max_speed: float) -> None:
    """Advances the filter by dt seconds. Continuous white-acceleration process noise
    (spectral density `accel_psd`, m^2/s^3): predicting in several short steps gives the
    same uncertainty as one long step, so overlapping cameras at odd stamps don't make
    the filter stiff."""
    if dt <= 0:
        return
    kf.F, kf.Q = transition(dt, accel_psd)
    kf.predict()
    cap_speed(kf.x, max_speed)


def transition(dt: float, accel_psd: float) -> tuple[np.ndarray, np.ndarray]:
    """The constant-velocity transition over dt and its process noise (F, Q)."""
    a, b, c = dt**3 / 3, dt**2 / 2, dt
    F = np.array([[1.0, 0, dt, 0], [0, 1.0, 0, dt], [0, 0, 1.0, 0], [0, 0, 0, 1.0]])
    return F, accel_psd * np.array([[a, 0, b, 0], [0, a, 0, b], [b, 0, c, 0], [0, b, 0, c]])


def cap_speed(x: np.ndarray, max_speed: float) -> None:
    """Scales the state's velocity (x[2:4]) down to max_speed: people walk at most ~1.8 m/s."""
    speed = float(np.hypot(x[2], x[3]))
    if speed > max_speed:
        x[2:] *= max_speed / speed
