//! Pitch, roll and yaw from one accelerometer and magnetometer sample.
//!
//! Pitch and roll come from gravity alone; yaw is the tilt-compensated compass
//! heading. This is not RTIMULib's full fusion (no gyro integration, no filter):
//! good for a board at rest, noisy while it moves.

/// Angles in degrees: pitch and roll in -180..180, yaw (heading) in 0..360.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Orientation {
    pub pitch_deg: f64,
    pub roll_deg: f64,
    pub yaw_deg: f64,
}

/// `accel` in g, `mag` in any unit (only its direction matters), both in the board frame.
pub fn from_accel_mag(accel: [f64; 3], mag: [f64; 3]) -> Orientation {
    let [ax, ay, az] = accel;
    let roll = ay.atan2(az);
    let pitch = (-ax).atan2(ay.mul_add(ay, az * az).sqrt());
    let [mx, my, mz] = mag;
    // Rotate the field back into the horizontal plane before taking the heading.
    let xh = mx * pitch.cos() + my * roll.sin() * pitch.sin() + mz * roll.cos() * pitch.sin();
    let yh = my * roll.cos() - mz * roll.sin();
    let yaw = (-yh).atan2(xh).to_degrees().rem_euclid(360.0);
    Orientation {
        pitch_deg: pitch.to_degrees(),
        roll_deg: roll.to_degrees(),
        yaw_deg: yaw,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-6
    }

    #[test]
    fn flat_board_pointing_north() {
        let o = from_accel_mag([0.0, 0.0, 1.0], [20.0, 0.0, -40.0]);
        assert!(
            close(o.pitch_deg, 0.0) && close(o.roll_deg, 0.0) && close(o.yaw_deg, 0.0),
            "{o:?}"
        );
    }

    #[test]
    fn heading_turns_with_the_field() {
        // Field pointing to -y in the board frame: the board faces east (90 degrees).
        let o = from_accel_mag([0.0, 0.0, 1.0], [0.0, -20.0, -40.0]);
        assert!(close(o.yaw_deg, 90.0), "{o:?}");
    }

    #[test]
    fn tilt_is_compensated() {
        // Rolled 30 degrees about x, still facing north: the heading must stay 0.
        let r = 30f64.to_radians();
        let accel = [0.0, r.sin(), r.cos()];
        let (fy, fz) = (0.0, -40.0);
        let mag = [
            20.0,
            fy * r.cos() + fz * r.sin(),
            -fy * r.sin() + fz * r.cos(),
        ];
        let o = from_accel_mag(accel, mag);
        assert!(close(o.roll_deg, 30.0), "{o:?}");
        assert!(o.yaw_deg.min(360.0 - o.yaw_deg) < 1e-6, "{o:?}");
    }
}
