"""The env keywords of the tiny supernet that the supernet and one-shot tests share: NB201
``tiny`` on digits, one epoch of pretraining (cached for the test session), small validation and
recalibration sets, so that a search takes seconds."""

TINY = dict(
    data="digits",
    size="tiny",
    device="cpu",
    epochs=1,
    n_val=200,
    recal_batches=2,
    recipe={"batch_size": 32},
    progress=False,
)
