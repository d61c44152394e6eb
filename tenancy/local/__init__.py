"""Local DynamoDB engines for development and tests: the embedded moto server with this
project's fixes, Amazon's DynamoDB Local, and starting and stopping either on this machine.
Nothing here is imported by the Pulumi program; the embedded server needs the `local` extra."""
