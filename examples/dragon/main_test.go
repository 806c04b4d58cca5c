package main

import "os"

func Example() {
	if err := run(os.Stdout); err != nil {
		panic(err)
	}
	// Output:
	// start-up (PUT_EGGS=""):          Mario carries 1 × crown, 1000 × gold coin
	// os.Setenv(PUT_EGGS, "true"):     Mario carries 1 × crown, 1000 × gold coin
	// settings.Reload("PUT_EGGS"):     Mario carries 1 × crown, 3 × egg, 1000 × gold coin
}
