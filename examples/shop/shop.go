// Package shop is the data set of dbsuite's seed story, shared by the
// examples and benchmarks: 2 stores, 10 departments per store, 500
// employees per department and 2,500 products per store, 15,022 rows with
// primary and foreign keys. Counting employees and products per store with
// three LEFT JOINs multiplies them into 25,000,000 intermediate rows, a
// trap that only production-sized data shows. Its tests catch it three
// ways with assertq: NoRowExplosion on the plan, Preflight before the
// query runs, and ExpectScaling at a hundredth of the data; the version
// with one correlated subquery per count passes all three.
package shop

import (
	"fmt"
	"time"

	"github.com/dbsuite/dbsuite/fixtures"
)

// Schema creates the tables. Keys are identity columns, as an application
// would declare them; the fixtures assign them client-side and advance the
// identity sequences after loading.
const Schema = `
CREATE TABLE stores (
	id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	name      text NOT NULL UNIQUE,
	city      text NOT NULL,
	opened_on date NOT NULL
);
CREATE TABLE departments (
	id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	store_id bigint NOT NULL REFERENCES stores (id),
	name     text NOT NULL,
	UNIQUE (store_id, name)
);
CREATE TABLE employees (
	id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	department_id bigint NOT NULL REFERENCES departments (id),
	first_name    text NOT NULL,
	last_name     text NOT NULL,
	email         text NOT NULL UNIQUE,
	salary        numeric(10, 2) NOT NULL,
	hired_on      date NOT NULL
);
CREATE INDEX employees_department_id_idx ON employees (department_id);
CREATE TABLE products (
	id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	store_id bigint NOT NULL REFERENCES stores (id),
	sku      text NOT NULL UNIQUE,
	name     text NOT NULL,
	price    numeric(10, 2) NOT NULL
);
CREATE INDEX products_store_id_idx ON products (store_id);
`

// Store is a row of stores.
type Store struct {
	ID       int64     `db:"id"`
	Name     string    `db:"name"`
	City     string    `db:"city"`
	OpenedOn time.Time `db:"opened_on"`
}

// Department is a row of departments.
type Department struct {
	ID      int64  `db:"id"`
	StoreID int64  `db:"store_id"`
	Name    string `db:"name"`
}

// Employee is a row of employees.
type Employee struct {
	ID           int64     `db:"id"`
	DepartmentID int64     `db:"department_id"`
	FirstName    string    `db:"first_name"`
	LastName     string    `db:"last_name"`
	Email        string    `db:"email"`
	Salary       float64   `db:"salary"`
	HiredOn      time.Time `db:"hired_on"`
}

// Product is a row of products.
type Product struct {
	ID      int64   `db:"id"`
	StoreID int64   `db:"store_id"`
	SKU     string  `db:"sku"`
	Name    string  `db:"name"`
	Price   float64 `db:"price"`
}

var (
	since = time.Date(2015, 1, 1, 0, 0, 0, 0, time.UTC)
	until = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

	departmentNames = []string{"Garden", "Hardware", "Kitchen", "Lighting", "Paint",
		"Plumbing", "Flooring", "Tools", "Outdoor", "Storage"}
)

// Stores builds stores.
var Stores = fixtures.Define("stores", func(g *fixtures.Gen, s *Store) {
	s.City = g.City()
	s.Name = fmt.Sprintf("%s #%d", s.City, g.N())
	s.OpenedOn = g.Date(since, until)
})

// Departments builds departments; set StoreID.
var Departments = fixtures.Define("departments", func(g *fixtures.Gen, d *Department) {
	d.Name = fmt.Sprintf("%s %d", departmentNames[(g.N()-1)%len(departmentNames)], (g.N()-1)/len(departmentNames)+1)
})

// Employees builds employees; set DepartmentID. The "manager" trait doubles
// the salary.
var Employees = fixtures.Define("employees", func(g *fixtures.Gen, e *Employee) {
	e.FirstName, e.LastName = g.FirstName(), g.LastName()
	e.Email = g.Email(e.FirstName, e.LastName)
	e.Salary = g.Price(30_000, 90_000)
	e.HiredOn = g.Date(since, until)
}).Trait("manager", func(g *fixtures.Gen, e *Employee) { e.Salary *= 2 })

// Products builds products; set StoreID.
var Products = fixtures.Define("products", func(g *fixtures.Gen, p *Product) {
	p.SKU = g.Code("SKU-", 6)
	p.Name = g.ProductName()
	p.Price = g.Price(1, 500)
})

// Data is the shop data set: the schema and [Build], seed 42. Tests get a
// database that already holds it with srv.Database(t, containers.WithTemplate(Data)),
// or a bigger one with Data.With(fixtures.WithScale(4)).
var Data = &fixtures.DataSet{Name: "shop", Schema: Schema, Seed: 42, Build: Build}

// Build declares the data set: 2 stores, 10 departments per store, 500
// employees per department (times the scale), 2,500 products per store
// (times the scale).
func Build(s *fixtures.Set) {
	for range 2 {
		store := fixtures.Add(s, Stores)
		for range 10 {
			dept := fixtures.Add(s, Departments, func(d *Department) { d.StoreID = store.ID })
			fixtures.AddN(s, Employees, s.Scaled(500), func(e *Employee, _ int) { e.DepartmentID = dept.ID })
		}
		fixtures.AddN(s, Products, s.Scaled(2500), func(p *Product, _ int) { p.StoreID = store.ID })
	}
}
