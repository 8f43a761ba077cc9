// Command hello is what TestRemoveBuiltBinaries builds.
package main

import "fmt"

func main() { fmt.Println("hello") }
