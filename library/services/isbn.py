"""ISBN checks: ISBN-13 with its check digit; ISBN-10 converted to ISBN-13 (978 prefix)."""

from __future__ import annotations


class InvalidIsbn(ValueError):
    pass


def isbn13_check_digit(first12: str) -> str:
    """The check digit completing the first 12 digits of an ISBN-13."""
    total = sum(int(d) * (1 if i % 2 == 0 else 3) for i, d in enumerate(first12))
    return str((10 - total % 10) % 10)


def _isbn10_valid(isbn: str) -> bool:
    total = 0
    for i, char in enumerate(isbn):
        if char == "X" and i == 9:
            value = 10
        elif char.isdigit():
            value = int(char)
        else:
            return False
        total += value * (10 - i)
    return total % 11 == 0


def normalize(raw: str) -> str:
    """The ISBN-13 for ``raw`` (hyphens and spaces allowed), or InvalidIsbn saying why."""
    isbn = raw.replace("-", "").replace(" ", "").upper()
    if len(isbn) == 10:
        if not _isbn10_valid(isbn):
            raise InvalidIsbn("ISBN-10 check digit does not match")
        first12 = "978" + isbn[:9]
        return first12 + isbn13_check_digit(first12)
    if len(isbn) == 13:
        if not isbn.isdigit():
            raise InvalidIsbn("An ISBN-13 has only digits")
        if not isbn.startswith(("978", "979")):
            raise InvalidIsbn("An ISBN-13 starts with 978 or 979")
        if isbn13_check_digit(isbn[:12]) != isbn[12]:
            raise InvalidIsbn("ISBN-13 check digit does not match")
        return isbn
    raise InvalidIsbn("An ISBN has 10 or 13 digits")
