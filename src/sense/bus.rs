//! The register bus the Sense HAT drivers talk to: the real I2C bus (rppal) on
//! a Pi, or a fake one that serves a register map in tests.

use std::collections::HashMap;
use std::io;

/// Register access to chips on one I2C bus.
pub trait RegisterBus: Send {
    fn write(&mut self, address: u8, register: u8, value: u8) -> io::Result<()>;
    /// Reads `buffer.len()` bytes starting at `register` (the caller sets the
    /// chip's auto-increment bit where it needs one).
    fn read(&mut self, address: u8, register: u8, buffer: &mut [u8]) -> io::Result<()>;
}

/// `/dev/i2c-<bus>` through rppal.
pub struct I2cBus {
    i2c: rppal::i2c::I2c,
    selected: Option<u8>,
}

fn to_io(error: rppal::i2c::Error) -> io::Error {
    match error {
        rppal::i2c::Error::Io(io) => io,
        other => io::Error::other(other.to_string()),
    }
}

impl I2cBus {
    pub fn open(bus: u8) -> io::Result<I2cBus> {
        let i2c = rppal::i2c::I2c::with_bus(bus).map_err(to_io)?;
        Ok(I2cBus {
            i2c,
            selected: None,
        })
    }

    fn select(&mut self, address: u8) -> io::Result<()> {
        if self.selected != Some(address) {
            self.i2c
                .set_slave_address(u16::from(address))
                .map_err(to_io)?;
            self.selected = Some(address);
        }
        Ok(())
    }
}

impl RegisterBus for I2cBus {
    fn write(&mut self, address: u8, register: u8, value: u8) -> io::Result<()> {
        self.select(address)?;
        self.i2c.smbus_write_byte(register, value).map_err(to_io)
    }

    fn read(&mut self, address: u8, register: u8, buffer: &mut [u8]) -> io::Result<()> {
        self.select(address)?;
        self.i2c.write_read(&[register], buffer).map_err(to_io)
    }
}

/// A bus that serves a register map, for tests: reads auto-increment from the
/// register (the 0x80 auto-increment flag masked off), writes are recorded, and
/// errors can be injected per address.
#[derive(Debug, Default, Clone)]
pub struct FakeBus {
    pub registers: HashMap<(u8, u8), u8>,
    pub writes: Vec<(u8, u8, u8)>,
    /// Every access to this address fails with this kind.
    pub failing: HashMap<u8, io::ErrorKind>,
    /// The next N reads of this (address, register) fail, then succeed.
    pub flaky_reads: HashMap<(u8, u8), u32>,
}

impl FakeBus {
    pub fn set(&mut self, address: u8, register: u8, bytes: &[u8]) {
        for (offset, byte) in bytes.iter().enumerate() {
            self.registers
                .insert((address, register + offset as u8), *byte);
        }
    }

    fn check(&mut self, address: u8) -> io::Result<()> {
        match self.failing.get(&address) {
            Some(kind) => Err(io::Error::new(
                *kind,
                format!("injected {kind:?} at 0x{address:02X}"),
            )),
            None => Ok(()),
        }
    }
}

impl RegisterBus for FakeBus {
    fn write(&mut self, address: u8, register: u8, value: u8) -> io::Result<()> {
        self.check(address)?;
        self.writes.push((address, register, value));
        Ok(())
    }

    fn read(&mut self, address: u8, register: u8, buffer: &mut [u8]) -> io::Result<()> {
        self.check(address)?;
        if let Some(left) = self.flaky_reads.get_mut(&(address, register & 0x7F))
            && *left > 0
        {
            *left -= 1;
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "injected flaky read",
            ));
        }
        let start = register & 0x7F;
        for (offset, byte) in buffer.iter_mut().enumerate() {
            *byte = self
                .registers
                .get(&(address, start + offset as u8))
                .copied()
                .ok_or_else(|| {
                    io::Error::new(
                        io::ErrorKind::NotFound,
                        format!("no device at 0x{address:02X}"),
                    )
                })?;
        }
        Ok(())
    }
}
