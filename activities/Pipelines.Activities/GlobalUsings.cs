// What nearly every activity uses: JSON inputs and outputs, the activity contract, and the services object.
global using System.Text.Json.Nodes;
global using Pipelines.Activities.Hosting;
global using Pipelines.Core.Activities;
global using Pipelines.Data.Tables;
