"""Kiln's exceptions. The first four are raised by the C++ core with its message unchanged (the text the CLI
prints after "kiln: error: "):

    Error               every Kiln error (a RuntimeError)
    InvalidInputError   a bad model, file, option or input: the caller can fix it (also a ValueError)
    InternalError       a broken invariant inside Kiln: a bug to report
    QueueFullError      the model's request queue is full: back off and retry
    VerificationError   kiln.torch.trace: the compiled model's outputs differ from the module's own by more
                        than the tolerance (the message gives the measured error)
"""

from ._kiln import Error, InternalError, InvalidInputError, QueueFullError


class VerificationError(Error):
    """The compiled model does not reproduce the source model within the tolerance."""


__all__ = ["Error", "InvalidInputError", "InternalError", "QueueFullError", "VerificationError"]
