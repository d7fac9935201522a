module provision/test/go-verify

go 1.19
