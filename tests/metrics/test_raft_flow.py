"""RAFT flow backend: torchvision's raft_small/raft_large load a random-init checkpoint of their layout (and reject
the other's), pairs run batched as one at a time, and the temporal metric runs with flow_method=raft_small."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from metrics.raft_flow import RaftEstimator, build_raft, pad_to_multiple
from metrics.temporal import TemporalConsistency
from tests.metrics.tester import tiny_clips
from tests.metrics.vbench_fixtures import raft_file
from vbench_lite.types import VbenchError


def test_random_raft_small_round_trips_and_raft_large_rejects_it():
    from safetensors.torch import load_file

    state = load_file(str(raft_file()))
    got = build_raft("raft_small", raft_file()).state_dict()
    assert set(got) == set(state) and all(torch.equal(got[k], v) for k, v in state.items())
    with pytest.raises(VbenchError) as info:
        build_raft("raft_large", raft_file())
    assert "torchvision raft_large" in str(info.value) and "\n" not in str(info.value)


def test_padding_is_centred_replicate_to_a_multiple_of_8():
    x = torch.arange(2 * 3 * 13 * 17, dtype=torch.float32).reshape(2, 3, 13, 17)
    padded, (left, right, top, bottom) = pad_to_multiple(x, min_side=0)
    assert padded.shape[-2:] == (16, 24) and (left, right, top, bottom) == (3, 4, 1, 2)
    assert pad_to_multiple(x)[0].shape[-2:] == (128, 128)  # torchvision RAFT's minimum
    assert torch.equal(padded[..., top:top + 13, left:left + 17], x)
    assert torch.equal(padded[..., 0, left:left + 17], x[..., 0, :])  # replicated edge row


@pytest.fixture(scope="module")
def estimator():
    return RaftEstimator(build_raft("raft_small", raft_file()), iterations=3, batch_size=4)


def test_batched_pairs_equal_one_pair_at_a_time(estimator):
    frames = tiny_clips(1, frames=5, size=36)[0].frames
    batched = estimator.pairs(frames[:-1], frames[1:])
    single = [estimator(a, b) for a, b in itertools.pairwise(frames)]
    assert batched[0].shape == (36, 36, 2) and batched[0].dtype == np.float32
    for a, b in zip(batched, single):
        np.testing.assert_allclose(a, b, atol=1e-4)  # float32 convolutions at another batch size


def test_temporal_metric_runs_on_raft_and_records_the_weights():
    metric = TemporalConsistency(flow_method="raft_small", weights=str(raft_file()), raft_iterations=2,
                                 device="cpu", static_filter=True, dynamic_rule="vbench")
    feats = metric.extract(tiny_clips(1, frames=4, size=32), [None])[0]
    assert set(feats) >= {"temporal_flicker", "dynamic_degree", "static"}
    assert any(k.endswith("raft_small:weights_sha256") for k in metric.provenance())
    assert metric.settings()["flow"]["raft"]["iterations"] == 2


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_gpu_equals_cpu(estimator):
    frames = tiny_clips(1, frames=3, size=32)[0].frames
    gpu = RaftEstimator(build_raft("raft_small", raft_file()), iterations=3, device="cuda")
    for a, b in zip(estimator.pairs(frames[:-1], frames[1:]), gpu.pairs(frames[:-1], frames[1:])):
        np.testing.assert_allclose(a, b, atol=1e-4)
