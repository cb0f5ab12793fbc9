"""Source keys become valid, reversible table keys."""

from __future__ import annotations

import pytest

from shared.state.keys import KeyEncodingError, decode_key, encode_key

AWKWARD = [
    "C1000000933",
    "A/B",
    "back\\slash",
    "hash#tag",
    "what?",
    "50%",
    "%2F",
    "~7E",
    "a~b",
    "tab\tnew\nline",
    "ÅÄÖ ü",
    "a'b+c",
]


@pytest.mark.parametrize("key", AWKWARD)
def test_round_trip(key: str) -> None:
    """Decoding an encoded key gives the original back."""
    assert decode_key(encode_key(key)) == key


@pytest.mark.parametrize("key", AWKWARD)
def test_no_forbidden_characters(key: str) -> None:
    """The encoded form has no slash, backslash, hash, question mark, percent sign or control character."""
    encoded = encode_key(key)
    assert not set(encoded) & set("/\\#?%")
    assert all(ord(c) >= 0x20 and not 0x7F <= ord(c) <= 0x9F for c in encoded)


def test_plain_keys_stay_readable() -> None:
    """Ordinary IFS keys are stored as they are."""
    assert encode_key("C1000000933") == "C1000000933"
    assert encode_key("FR020|10062") == "FR020|10062"


def test_distinct_keys_stay_distinct() -> None:
    """A key that looks like an escape does not collide with the character it would stand for."""
    assert encode_key("~2F") != encode_key("/")
    assert encode_key("%2F") != encode_key("/")
    assert encode_key("FR020/10062") == "FR020~2F10062"


def test_empty_and_oversized_keys_are_refused() -> None:
    """Keys that cannot be stored raise a clear error."""
    with pytest.raises(KeyEncodingError, match="empty"):
        encode_key("")
    with pytest.raises(KeyEncodingError, match="longer than 1024"):
        encode_key("x" * 600)


@pytest.mark.parametrize("stored", ["50~", "a~zz", "50%", "a/b"])
def test_malformed_encoded_key_is_refused(stored: str) -> None:
    """A stray tilde, a raw percent sign or a forbidden character is not a key this module wrote."""
    with pytest.raises(KeyEncodingError):
        decode_key(stored)


@pytest.mark.parametrize("key", ["C\ud800", "\udfff", "A\ud83dB"])
def test_a_lone_surrogate_is_a_key_encoding_error(key: str) -> None:
    """Valid JSON, but not text: refused as KeyEncodingError, not UnicodeEncodeError."""
    with pytest.raises(KeyEncodingError, match="lone surrogate"):
        encode_key(key)


def test_a_surrogate_pair_is_text() -> None:
    """An astral character (a proper pair) is kept."""
    assert decode_key(encode_key("C😀")) == "C😀"
