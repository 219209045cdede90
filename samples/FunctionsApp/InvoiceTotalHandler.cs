using System.ComponentModel.DataAnnotations;
using DurableJobs.Core.Handlers;

namespace DurableJobs.Samples.FunctionsApp;

/// <summary>One invoice line.</summary>
public sealed record InvoiceLine([property: Range(0, 1_000_000)] int Quantity, [property: Range(0, 1_000_000)] decimal UnitPrice);

/// <summary>The payload of <c>invoice-total</c>.</summary>
public sealed record Invoice([property: Required, MinLength(1)] IReadOnlyList<InvoiceLine> Lines, [property: Range(0, 1)] decimal TaxRate = 0.2m);

/// <summary>What <c>invoice-total</c> returns.</summary>
public sealed record InvoiceTotal(decimal Net, decimal Tax, decimal Gross);

/// <summary><c>invoice-total</c>: a typed handler of this app, run by the DurableJobs activity function.</summary>
public sealed class InvoiceTotalHandler : IJobHandler<Invoice, InvoiceTotal>
{
    public ValueTask<InvoiceTotal> ExecuteAsync(JobContext context, Invoice payload, CancellationToken cancellationToken)
    {
        decimal net = payload.Lines.Sum(l => l.Quantity * l.UnitPrice);
        decimal tax = decimal.Round(net * payload.TaxRate, 2);
        return ValueTask.FromResult(new InvoiceTotal(net, tax, net + tax));
    }
}
