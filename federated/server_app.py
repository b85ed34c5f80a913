"""The ServerApp: FedAvg over the silos, with SecAgg+ and user-level DP when the run asks.

Legacy workflow on purpose: flwr 1.32 runs SecAgg+ only as `DefaultWorkflow(fit_workflow=
SecAggPlusWorkflow(...))` with a `LegacyContext`; a plain run uses the same workflow without it.
"""

from flwr.app import Context
from flwr.server import Grid, LegacyContext, ServerApp, ServerConfig
from flwr.server.workflow import DefaultWorkflow, SecAggPlusWorkflow

from federated.settings import TrainSettings
from federated.strategy import WeirFedAvg

app = ServerApp()


def workflow(settings: TrainSettings) -> DefaultWorkflow:
    """The fit workflow: SecAgg+ (num_shares must be odd on flwr 1.32) or plain collection."""
    if not settings.secagg:
        return DefaultWorkflow()
    secagg = SecAggPlusWorkflow(
        num_shares=settings.num_shares,
        reconstruction_threshold=settings.reconstruction_threshold,
        max_weight=max(settings.max_weight, 1),
        clipping_range=settings.quantisation_range,
    )
    return DefaultWorkflow(fit_workflow=secagg)


@app.main()
def main(grid: Grid, context: Context) -> None:
    settings = TrainSettings.from_run_config(context.run_config)
    strategy = WeirFedAvg(settings)
    legacy = LegacyContext(context=context, config=ServerConfig(num_rounds=settings.rounds), strategy=strategy)
    workflow(settings)(grid, legacy)
    strategy.outcome.save(settings.result_file)
