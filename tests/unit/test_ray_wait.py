"""launcher.ray_wait (the SLURM script's barrier) against a real local Ray cluster of one raylet
with two logical GPUs (ray.cluster_utils.Cluster)."""

import pytest


@pytest.fixture(scope="module")
def cluster():
    from ray.cluster_utils import Cluster

    c = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "num_gpus": 2, "include_dashboard": False})
    yield c
    c.shutdown()


def test_returns_when_the_gpus_have_joined(cluster, capsys):
    from launcher.ray_wait import main

    assert main(["--address", cluster.address, "--gpus", "2", "--timeout", "60"]) == 0
    assert "2 GPU(s) joined" in capsys.readouterr().out


def test_says_how_many_joined_when_time_runs_out(cluster, capsys):
    from launcher.ray_wait import main

    assert main(["--address", cluster.address, "--gpus", "4", "--timeout", "2"]) == 1
    assert "only 2 of 4 GPU(s) joined" in capsys.readouterr().err
