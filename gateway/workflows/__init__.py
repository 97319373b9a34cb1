"""Workflows declared in gateway.yaml: tools the gateway itself serves, made of steps that call
backend tools (or read resources) through the gateway, with data flowing between them."""
