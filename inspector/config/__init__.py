"""Configuration: section base (``base``) and the assembled settings (``settings``)."""
