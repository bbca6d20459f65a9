"""TorchServe's wire protocol between its frontend and backend workers does
not exist here (the nginx worker runs the handler itself). What handlers
import from it is kept so that their import works."""

from ts.handler_utils.utils import send_intermediate_predict_response

__all__ = ["send_intermediate_predict_response"]
