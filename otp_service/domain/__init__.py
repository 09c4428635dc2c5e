"""Verification logic: codes, policy, Redis state and delivery. Never imports Litestar."""
