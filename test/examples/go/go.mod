module relaybox.example/quickstart

go 1.19
