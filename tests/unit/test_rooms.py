"""The shape every process takes (issue 12): the platform never reaches into a process, a process
never into another, and the use-case package has no import cycle — lazy imports inside
functions included, since grimp reads every import statement, not only the module's top."""
from __future__ import annotations

import itertools

import grimp
import pytest

PLATFORM = ("service.usecases", "service.engine", "service.store", "service.domain")


@pytest.fixture(scope="module")
def graph():
    return grimp.build_graph("service")


def _processes(graph):
    return sorted(m for m in graph.find_children("service.processes"))


def test_there_are_processes_to_check(graph):
    # guards the tests below against passing on an empty package
    assert {"service.processes.filing", "service.processes.pilot", "service.processes.renewal"} <= set(
        _processes(graph))


def test_no_process_imports_another(graph):
    processes = _processes(graph)
    chains = {(a, b): graph.find_shortest_chain(importer=a, imported=b)
              for a, b in itertools.permutations(processes, 2)}
    assert {pair: chain for pair, chain in chains.items() if chain} == {}


def test_the_platform_never_imports_a_process(graph):
    platform = set().union(*(graph.find_descendants(package) | {package} for package in PLATFORM))
    rooms = _processes(graph) + ["service.processes"]
    found = {(module, room) for module in platform for room in rooms
             if graph.chain_exists(importer=module, imported=room)}
    assert found == set()


def test_the_use_case_package_has_no_cycle(graph):
    modules = sorted(graph.find_descendants("service.usecases"))
    cycles = [(a, b) for a, b in itertools.combinations(modules, 2)
              if graph.chain_exists(importer=a, imported=b) and graph.chain_exists(importer=b, imported=a)]
    assert cycles == []
