"""Front ends: what turns a machine's output into files and screens."""
