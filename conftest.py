"""pytest settings for the notebooks run under nbval."""


def pytest_collectstart(collector) -> None:
    # nbval already skips PNG and JPEG outputs (pixels differ with library versions and are
    # checked by eye, not by diff); animated GIFs are the same kind of output.
    if collector.fspath and collector.fspath.ext == ".ipynb":
        collector.skip_compare += ("image/gif",)
