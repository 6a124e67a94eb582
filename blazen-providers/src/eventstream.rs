//! The AWS binary event-stream decoder (Bedrock ConverseStream).
