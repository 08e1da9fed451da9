"""Model files shipped with inspector (package data): the demo PCB solder-joint model."""
