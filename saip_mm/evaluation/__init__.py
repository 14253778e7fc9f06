"""Metrics registered in saip_mm (downstream metrics live here)."""
