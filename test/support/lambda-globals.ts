import { installLambdaStreamingGlobals } from '../../local/lambda-streaming-globals';

// Handlers are built at import, as in Lambda, so the runtime's streaming globals must exist first.
installLambdaStreamingGlobals();

// Node 20 is supported here; the SDK's notice about future Node versions is noise in test output.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
