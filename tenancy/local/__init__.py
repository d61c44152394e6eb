"""Local DynamoDB engines for development and tests: MiniStack (the default), Amazon's DynamoDB
Local and LocalStack, each installed in a folder of its own, and starting and stopping them on
this machine. Nothing here is imported by the Pulumi program."""
