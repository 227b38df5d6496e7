import pytest

from library.services.isbn import InvalidIsbn, normalize


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("978-89-364-3424-3", "9788936434243"),
        ("9788936434243", "9788936434243"),
        ("89-364-3424-1", "9788936434243"),  # ISBN-10 converted
        ("0-306-40615-2", "9780306406157"),
        ("0-8044-2957-X", "9780804429573"),
        ("979-11-6040-356-5", "9791160403565"),
    ],
)
def test_valid_isbns(raw, expected):
    assert normalize(raw) == expected


@pytest.mark.parametrize(
    "raw",
    ["0-306-40615-3", "12345", "97889364342AB", "1234567890123", "X-306-40615-2"],
)
def test_invalid_isbns(raw):
    with pytest.raises(InvalidIsbn):
        normalize(raw)
