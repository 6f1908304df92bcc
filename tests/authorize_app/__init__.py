"""Tests of the public consent flow: onboarding, failures, re-authorisation, its surface."""
