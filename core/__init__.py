"""Shared foundation: app factory, configuration, data layer, auth, errors, jobs, audit."""
