"""Shared test helpers: the location of ../shared and skipping without it."""
import os
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from config import config  # noqa: E402

SHARED = config.shared


def shared_path(*parts):
    """Path under the shared folder, skipping the test with a reason when it is absent."""
    path = os.path.join(SHARED, *parts)
    if not os.path.exists(path):
        pytest.skip('reference data not available: %s (set MTCNN_SHARED)' % path)
    return path
