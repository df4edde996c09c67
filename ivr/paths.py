"""Every webhook path, in one place. Twilio's console and the TwiML we have already handed out
point at these: rename none of them."""

INCOMING = "/voice/incoming"
STATUS = "/voice/status"
FALLBACK = "/voice/fallback"

MENU = "/voice/menu"
MENU_INPUT = "/voice/menu/input"

CALLBACK = "/voice/callback"
CALLBACK_INPUT = "/voice/callback/input"
CALLBACK_MESSAGE = "/voice/callback/message"
CALLBACK_RECORDING = "/voice/callback/recording"

OPERATOR = "/voice/operator"
QUEUE_WAIT = "/voice/queue/wait"
QUEUE_KEY = "/voice/queue/key"
QUEUE_LEFT = "/voice/queue/left"
QUEUE_CONNECT = "/voice/queue/connect"
OPERATOR_ANSWER = "/voice/operator/answer"
OPERATOR_ACCEPT = "/voice/operator/accept"
OPERATOR_DONE = "/voice/operator/done"
OPERATOR_STATUS = "/voice/operator/status"

# Not Twilio's: for load balancers, monitoring and Twilio's Debugger.
HEALTHZ = "/healthz"
READYZ = "/readyz"
METRICS = "/metrics"
DEBUGGER = "/twilio/debugger"

# Calling a person back from the operators' page: the operator's phone first, then the caller.
CALLBACK_CALL_ANSWER = "/voice/callback-call/answer"
CALLBACK_CALL_ACCEPT = "/voice/callback-call/accept"
CALLBACK_CALL_DIALED = "/voice/callback-call/dialed"
CALLBACK_CALL_STATUS = "/voice/callback-call/status"
CALLBACK_CALL_CALLER_STATUS = "/voice/callback-call/caller-status"
