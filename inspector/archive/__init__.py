"""Reject archive: a sink that keeps rejected/alarmed parts on disk within a quota."""
