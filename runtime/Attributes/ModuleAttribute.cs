using System;

namespace StaticNet;

/// <summary>
/// Marks a partial class of your own as a module that holds others in fields or properties (generated networks,
/// ModuleLists, layers), as a PyTorch nn.Module registers the submodules assigned to its attributes. The generator makes
/// it derive from <see cref="Module"/> and lists those members, in declaration order, as its children, named as a PyTorch
/// attribute would be: leading underscores dropped and snake_case (<c>_body</c> is <c>body</c>, <c>Heads</c> is
/// <c>heads</c>, <c>HiddenLayers</c> is <c>hidden_layers</c>). Parameters(), Apply(), Train()/Eval(),
/// ZeroGrad() and state_dict names then reach every one of them; the class writes its own forward over them.
/// </summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
public sealed class ModuleAttribute : Attribute;
