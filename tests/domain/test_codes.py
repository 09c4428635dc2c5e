"""Code generation (uniform digits from ``secrets``) and peppered argon2id hashing off the event loop."""

from __future__ import annotations

import asyncio
import collections
import itertools
import os
import sys
import threading
import time
from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from otp_service.domain.codes import HASH_THREAD_NICE, Argon2Params, CodeHasher, generate_code

CHEAP = Argon2Params(time_cost=1, memory_kib=256)
EXPENSIVE = Argon2Params(time_cost=3, memory_kib=65536)
PEPPER = b"pepper-for-domain-tests-0123456789"
OTHER_PEPPER = b"another-pepper-for-domain-tests-99"
VID = "vf_0123456789abcdef"

# Chi-square critical value for 9 degrees of freedom at p = 1e-9: a fair generator fails this
# about once in a billion runs, a biased one (e.g. a digit missing or doubled) fails it every time.
CHI2_9DOF_BOUND = 60.0


def chi_square(counts: collections.Counter[str], total: int) -> float:
    expected = total / 10
    return sum((counts.get(str(d), 0) - expected) ** 2 / expected for d in range(10))


@pytest.fixture
def hasher() -> Iterator[CodeHasher]:
    h = CodeHasher(PEPPER, CHEAP)
    yield h
    h.close()


# -- generate_code --------------------------------------------------------------------------------


@pytest.mark.parametrize("length", range(4, 11))
def test_code_has_the_requested_length_and_only_ascii_digits(length: int) -> None:
    for _ in range(200):
        code = generate_code(length)
        assert len(code) == length
        assert code.isascii()
        assert code.isdigit()


@given(st.integers(min_value=4, max_value=10))
def test_any_supported_length_gives_that_many_digits(length: int) -> None:
    code = generate_code(length)
    assert len(code) == length
    assert set(code) <= set("0123456789")


def test_leading_zeros_are_kept() -> None:
    codes = [generate_code(4) for _ in range(3000)]
    # About 300 of 3000 start with 0; seeing none has probability 0.9**3000.
    assert any(code.startswith("0") for code in codes)
    assert all(len(code) == 4 for code in codes)
    # Values below 100 must still be padded to four digits ("0042", never "42").
    assert any(code.startswith("00") for code in codes + [generate_code(4) for _ in range(5000)])


def test_every_digit_position_is_roughly_uniform() -> None:
    total = 10_000
    codes = [generate_code(6) for _ in range(total)]
    for position in range(6):
        counts = collections.Counter(code[position] for code in codes)
        assert set(counts) == set("0123456789"), f"position {position} never shows some digit"
        assert chi_square(counts, total) < CHI2_9DOF_BOUND, f"position {position} is biased: {counts}"


def test_codes_do_not_repeat_more_than_chance_allows() -> None:
    codes = [generate_code(8) for _ in range(2000)]
    # 2000 draws from 10**8 values: a repeat has probability ~2%, two repeats ~0.02%.
    assert len(set(codes)) >= len(codes) - 1


@pytest.mark.parametrize("length", [0, -1, 19, 100])
def test_out_of_range_length_raises_value_error(length: int) -> None:
    with pytest.raises(ValueError, match="length"):
        generate_code(length)


# -- CodeHasher -----------------------------------------------------------------------------------


async def test_hash_verifies_with_the_same_code_and_verification_id(hasher: CodeHasher) -> None:
    code_hash = await hasher.hash(VID, "123456")
    assert await hasher.verify(code_hash, VID, "123456") is True


async def test_hash_does_not_verify_another_code(hasher: CodeHasher) -> None:
    code_hash = await hasher.hash(VID, "123456")
    assert await hasher.verify(code_hash, VID, "123457") is False
    assert await hasher.verify(code_hash, VID, "654321") is False
    assert await hasher.verify(code_hash, VID, "") is False


async def test_hash_is_bound_to_its_verification_id(hasher: CodeHasher) -> None:
    code_hash = await hasher.hash(VID, "123456")
    assert await hasher.verify(code_hash, "vf_someone_else", "123456") is False
    # Without a separator "vf_a" + "12345" and "vf_a1" + "2345" would hash the same bytes.
    shifted = await hasher.hash("vf_a", "12345")
    assert await hasher.verify(shifted, "vf_a1", "2345") is False


async def test_hash_is_bound_to_the_pepper(hasher: CodeHasher) -> None:
    code_hash = await hasher.hash(VID, "123456")
    other = CodeHasher(OTHER_PEPPER, CHEAP)
    try:
        assert await other.verify(code_hash, VID, "123456") is False
        # ...and the right pepper in a fresh hasher (a restart, another replica) still verifies it.
        same = CodeHasher(PEPPER, CHEAP)
        try:
            assert await same.verify(code_hash, VID, "123456") is True
        finally:
            same.close()
    finally:
        other.close()


def test_hash_string_never_contains_the_code_or_the_pepper(hasher: CodeHasher) -> None:
    for code in ("123456", "000000", "98765432", "4242"):
        code_hash = hasher.hash_sync(VID, code)
        assert code not in code_hash
        assert PEPPER.decode() not in code_hash
        assert VID not in code_hash


def test_stored_format_is_argon2id_with_the_configured_cost(hasher: CodeHasher) -> None:
    code_hash = hasher.hash_sync(VID, "123456")
    assert code_hash.startswith("$argon2id$")
    assert "$m=256,t=1,p=1$" in code_hash


def test_hashes_are_salted(hasher: CodeHasher) -> None:
    first = hasher.hash_sync(VID, "123456")
    second = hasher.hash_sync(VID, "123456")
    assert first != second
    assert hasher.verify_sync(first, VID, "123456")
    assert hasher.verify_sync(second, VID, "123456")


@pytest.mark.parametrize("stored", ["", "not-a-hash", "$argon2id$v=19$m=256,t=1,p=1$AAAA$BBBB", "$argon2i$garbage"])
async def test_a_corrupt_stored_hash_is_a_mismatch_not_an_error(hasher: CodeHasher, stored: str) -> None:
    assert await hasher.verify(stored, VID, "123456") is False


def test_an_empty_pepper_is_refused() -> None:
    with pytest.raises(ValueError, match="pepper"):
        CodeHasher(b"", CHEAP)


async def test_hashing_runs_off_the_event_loop() -> None:
    hasher = CodeHasher(PEPPER, EXPENSIVE, threads=4)
    try:
        started = time.perf_counter()
        hasher.hash_sync(VID, "123456")  # one hash, measured on this thread before the loop matters
        one_hash_s = time.perf_counter() - started
        assert one_hash_s > 0.05, f"the expensive parameters took only {one_hash_s:.3f}s: the test proves nothing"

        ticks: list[float] = []
        stop = asyncio.Event()

        async def ticker() -> None:
            while not stop.is_set():
                ticks.append(time.perf_counter())
                await asyncio.sleep(0.005)

        task = asyncio.create_task(ticker())
        await asyncio.sleep(0.02)
        hashes = await asyncio.gather(*(hasher.hash(VID, f"{i:06d}") for i in range(4)))
        checks = await asyncio.gather(*(hasher.verify(h, VID, f"{i:06d}") for i, h in enumerate(hashes)))
        stop.set()
        await task
    finally:
        hasher.close()

    assert checks == [True] * 4
    # Run on the loop, each of the 4 hashes would freeze it for a whole hash (>= one_hash_s).
    gaps = [b - a for a, b in itertools.pairwise(ticks)]
    assert len(ticks) > 10
    assert max(gaps) < one_hash_s / 2, f"the loop stalled {max(gaps):.3f}s while one hash takes {one_hash_s:.3f}s"


@pytest.mark.skipif(sys.platform != "linux", reason="per-thread nice values are a Linux feature")
async def test_hashing_threads_yield_the_cpu_to_the_event_loop() -> None:
    """Under saturation the loop must win the CPU over argon2, or every request waits behind hashes."""
    hasher = CodeHasher(PEPPER, CHEAP, threads=2)
    loop_nice = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    try:
        await hasher.hash(VID, "123456")  # the pool starts its threads on first use
        hash_nice = await asyncio.get_running_loop().run_in_executor(
            hasher._pool, lambda: os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
        )
    finally:
        hasher.close()
    assert hash_nice == min(19, loop_nice + HASH_THREAD_NICE)
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == loop_nice  # the loop is untouched
