module github.com/stepping-io/stepping

go 1.26

require (
	github.com/alecthomas/participle/v2 v2.1.4 // indirect
	github.com/google/btree v1.1.3 // indirect
	github.com/shopspring/decimal v1.4.0 // indirect
)
