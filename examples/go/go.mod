module hashmatch-example

go 1.19
