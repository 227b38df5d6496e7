"""The roles an account can hold. Models, schemas, services and doors all take them from here."""

from __future__ import annotations

ROLES = ("resident", "librarian", "archivist", "facility_manager", "admin")
# Everyone who works for the city, as opposed to residents.
STAFF_ROLES = ("librarian", "archivist", "facility_manager", "admin")
