// The namespaces nearly every endpoint and store of the API uses; each file adds only what is particular to it.
global using System.Text.Json.Nodes;
global using Microsoft.AspNetCore.Builder;
global using Microsoft.AspNetCore.Http;
global using Microsoft.AspNetCore.Routing;
global using Npgsql;
global using Pipelines.Api.Auth;
global using Pipelines.Api.Data;
global using Pipelines.Api.Domain;
global using Pipelines.Api.Hosting;
global using Pipelines.Postgres.Sql;
