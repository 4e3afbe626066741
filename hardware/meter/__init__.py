"""Energy meters over Modbus RTU, with register maps as data files."""
